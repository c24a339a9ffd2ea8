//! The index layout of distributed data: this rank owns a contiguous range of global ids and
//! keeps ghost copies of some ids owned elsewhere. Local index `i < n_owned` is global
//! `offset + i`; local `n_owned + k` is ghost `k`.

/// Owned range plus ghosts with their owners: the one place ownership is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// First global id owned by this rank.
    pub offset: u64,
    /// Number of owned ids.
    pub n_owned: usize,
    /// Total number of ids over all ranks.
    pub n_global: u64,
    /// Global id of each ghost, in local order.
    pub ghosts: Vec<u64>,
    /// Owning rank of each ghost.
    pub ghost_owners: Vec<i32>,
}

impl Layout {
    /// Owned plus ghost count: the length of a local array over this layout.
    pub fn n_local(&self) -> usize {
        self.n_owned + self.ghosts.len()
    }
    /// Global id of local index `i`.
    pub fn global(&self, i: usize) -> u64 {
        if i < self.n_owned {
            self.offset + i as u64
        } else {
            self.ghosts[i - self.n_owned]
        }
    }
}
