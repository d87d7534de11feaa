//! The `retarget` command line: parses arguments, calls the libraries, renders
//! results. Exit code 2 means bad input, 1 an internal or system failure.

mod cli;
mod eval_cli;
mod infer_cli;
mod langid_cli;
mod render;
mod systems_cli;
mod translate_cli;
mod vocab_cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = eval_cli::sacrebleu_aliases(std::env::args_os().collect());
    let cli = cli::Cli::parse_from(args);
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let bad_input = err
                .downcast_ref::<retarget_model::ModelError>()
                .is_some_and(retarget_model::ModelError::is_bad_input)
                || err
                    .downcast_ref::<retarget_vocab::VocabError>()
                    .is_some_and(retarget_vocab::VocabError::is_bad_input)
                || err
                    .downcast_ref::<retarget_merge::MergeError>()
                    .is_some_and(retarget_merge::MergeError::is_bad_input)
                || err
                    .downcast_ref::<retarget_infer::InferError>()
                    .is_some_and(retarget_infer::InferError::is_bad_input)
                || err
                    .downcast_ref::<retarget_eval::EvalError>()
                    .is_some_and(retarget_eval::EvalError::is_bad_input);
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
