//! `cargo xtask`: ballast's project automation.
fn main() {
    println!("xtask skeleton");
}
