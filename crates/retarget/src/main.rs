//! The `retarget` command line: parses arguments, calls the libraries, renders
//! results. Exit code 2 means bad input, 1 an internal or system failure.

mod adapt_cli;
mod capture_cli;
mod cli;
mod control_cli;
mod eval_cli;
mod infer_cli;
mod langid_cli;
mod render;
mod steer_args;
mod steer_cli;
mod translate_cli;
mod vocab_cli;

use std::process::ExitCode;

use clap::Parser;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// A closed standard output (`retarget generate … | head`) ends the program
/// quietly, as it ends other Unix tools, instead of panicking; SIGINT, SIGTERM
/// and SIGHUP remove the temporaries being written, then exit with 128 + the
/// signal's number (130, 143, 129).
fn handle_signals() {
    // SAFETY: sets the default disposition of SIGPIPE (which Rust's runtime
    // ignores) before any other thread exists; no handler code is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                retarget_model::output::temporaries::remove_live_temporaries_and_exit(128 + signal);
            }
        });
    }
}

/// The error and its causes on one line, each cause once: the library
/// errors already print the cause they wrap (`path: reason`).
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

fn main() -> ExitCode {
    handle_signals();
    let args = eval_cli::sacrebleu_aliases(std::env::args_os().collect());
    let cli = cli::Cli::parse_from(args);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", message(&err));
            let bad_input = err
                .downcast_ref::<retarget_model::ModelError>()
                .is_some_and(retarget_model::ModelError::is_bad_input)
                || err
                    .downcast_ref::<retarget_vocab::VocabError>()
                    .is_some_and(retarget_vocab::VocabError::is_bad_input)
                || err
                    .downcast_ref::<retarget_adapt::AdaptError>()
                    .is_some_and(retarget_adapt::AdaptError::is_bad_input)
                || err
                    .downcast_ref::<retarget_merge::MergeError>()
                    .is_some_and(retarget_merge::MergeError::is_bad_input)
                || err
                    .downcast_ref::<retarget_infer::InferError>()
                    .is_some_and(retarget_infer::InferError::is_bad_input)
                || err
                    .downcast_ref::<retarget_control::ControlError>()
                    .is_some_and(retarget_control::ControlError::is_bad_input)
                || err
                    .downcast_ref::<retarget_eval::EvalError>()
                    .is_some_and(retarget_eval::EvalError::is_bad_input);
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
