//! Asking the operator for input on a terminal, and reading secrets from standard input.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};

/// Whether we may prompt: both standard input and standard error are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// A visible answer, prompted on stderr (stdout stays for the command's output).
pub fn line(label: &str) -> Result<String> {
    eprint!("{}: ", crate::output::clean(label));
    io::stderr().flush()?;
    let mut s = String::new();
    io::stdin()
        .lock()
        .read_line(&mut s)
        .context("cannot read standard input")?;
    Ok(s.trim().to_owned())
}

/// A hidden answer (no echo).
pub fn secret(label: &str) -> Result<String> {
    rpassword::prompt_password(format!("{}: ", crate::output::clean(label))).context("cannot read from the terminal")
}

/// The first line of standard input, without its line ending (`--password-stdin`).
pub fn stdin_line() -> Result<String> {
    let mut s = String::new();
    io::stdin()
        .lock()
        .read_line(&mut s)
        .context("cannot read standard input")?;
    let s = s.trim_end_matches(['\n', '\r']).to_owned();
    if s.is_empty() {
        bail!("standard input was empty: expected the password on its first line");
    }
    Ok(s)
}

/// `value`, or a prompt for it on a terminal, or an error naming the flag.
pub fn value_or_prompt(value: Option<String>, label: &str, flag: &str) -> Result<String> {
    match value {
        Some(v) => Ok(v),
        None if interactive() => line(label),
        None => Err(backend::ServiceError::invalid(
            flag.trim_start_matches('-'),
            format!("{flag} is required when standard input is not a terminal"),
        )
        .into()),
    }
}
