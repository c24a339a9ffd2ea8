//! The crate-wide error type: every fallible library function returns [`Result`].

/// Everything that can go wrong in ddkit, with a message meant for a person at a terminal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mesh file could not be read or is malformed.
    #[error("mesh {path}: {msg}")]
    Mesh {
        /// The file that was being read.
        path: String,
        /// What is wrong with it, with a line number where one is known.
        msg: String,
    },
    /// A partition is unusable (empty part, more parts than cells, METIS failure, ...).
    #[error("partition: {0}")]
    Partition(String),
    /// A parameter is out of range or inconsistent (non-positive kappa, unstable dt, ...).
    #[error("invalid input: {0}")]
    Input(String),
    /// A configuration file or option could not be parsed.
    #[error("config: {0}")]
    Config(String),
    /// A solve failed: it did not converge, broke down or produced values that are not finite.
    /// The run's report is still written, with this reason.
    #[error("solve failed: {0}")]
    Solve(String),
    /// Writing output failed.
    #[error("output: {0}")]
    Output(String),
    /// A file-system error with the path that caused it.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error detected on another rank and propagated by collective agreement.
    #[error("{msg} (on rank {rank})")]
    Remote {
        /// The rank that detected the error.
        rank: i32,
        /// Its message.
        msg: String,
    },
}

impl Error {
    /// Shorthand for an [`Error::Input`].
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
    /// Shorthand for an [`Error::Mesh`] about `path`.
    pub fn mesh(path: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Mesh {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

impl From<hdf5::Error> for Error {
    fn from(e: hdf5::Error) -> Self {
        Error::Output(e.to_string())
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
