// Without this a new migration file is silently left out of the binary (sqlx::migrate!
// embeds the directory at compile time).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
