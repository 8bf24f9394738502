//! A reader that stops reading (`mezzfs replay info r | head -3`) is how pipelines end, not a
//! failure of the tool: Rust's `println!` panics when stdout's pipe is closed, which printed a
//! panic and a backtrace under the reader's output. The conventional Unix answer, the default
//! SIGPIPE action, would also kill a mount or a worker that writes to a closed socket or to a
//! decoder child that has exited, so instead only that one panic is turned into a quiet exit
//! with the status a shell reports for SIGPIPE (141). Every other panic is reported as before.

/// The status a shell gives a command killed by SIGPIPE (128 + 13).
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Installs the panic hook; call first thing in `main`.
pub fn exit_quietly_when_output_closes() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload_as_str().is_some_and(is_closed_output) {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        previous(info);
    }));
}

/// Whether a panic message is std's "failed printing to stdout/stderr" on a closed pipe.
fn is_closed_output(message: &str) -> bool {
    (message.starts_with("failed printing to stdout")
        || message.starts_with("failed printing to stderr"))
        && message.contains("Broken pipe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_pipe_on_stdout_or_stderr_is_quiet() {
        assert!(is_closed_output(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(is_closed_output(
            "failed printing to stderr: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_output(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
        assert!(!is_closed_output("index out of bounds: Broken pipe"));
    }
}
