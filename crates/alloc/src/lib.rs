//! Hot-path memory for ballast.
//!
//! Status: skeleton; the ring buffer, SPSC ring, pools, scratch arena and
//! counting allocator land with the foundation issue.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
