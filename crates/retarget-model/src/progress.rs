//! Progress bars (indicatif) for long-running work. Hidden when standard
//! error is not a terminal, so logs and tests stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-count progress bar with a message, drawn on standard error.
pub fn bytes_bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// An item-count progress bar (lines, tokens) with a message, drawn on
/// standard error.
pub fn count_bar(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}
