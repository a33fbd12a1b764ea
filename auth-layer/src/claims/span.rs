//! Where a string lives in a [`Claims`](super::Claims)' text.

/// A byte range of a [`Claims`](super::Claims)' text, always on `char` boundaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Span {
    pub(super) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}
