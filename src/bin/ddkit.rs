//! The `ddkit` command line; all logic lives in [`ddkit::cli`].

fn main() {
    std::process::exit(ddkit::cli::main());
}
