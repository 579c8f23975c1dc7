//! The user's keymap file (issue 9, docs/adr/0016): checked before the console starts, a bad
//! entry stops it with the file, line and column.

use crate::cli::{painel, stderr};
use crate::common::fresh;

#[tokio::test]
async fn a_bad_keymap_file_stops_the_console_naming_its_line() {
    let t = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let keymap = dir.path().join("keymap.toml");
    std::fs::write(
        &keymap,
        "[list]\nkeymap = [\n  { on = [\"n\"], run = \"create\" },\n  { on = [\"z\"], run = \"fly\" },\n]\n",
    )
    .unwrap();
    let out = painel(&t, &["--config", config.to_str().unwrap(), "tui"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("keymap.toml: line 4, column 23") && err.contains("unknown action") && err.contains("fly"),
        "{err}"
    );
}
