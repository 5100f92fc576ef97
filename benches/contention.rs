//! The engine under contention (criterion): many tasks race for one slot through the `Engine`.
//! Work in progress: the measurements land in the next commit.

fn main() {}
