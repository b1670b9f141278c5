//! placeholder until the simulator lands
/// placeholder
pub struct SimulatedGateway;
impl SimulatedGateway {
    /// placeholder
    pub fn demo() -> std::io::Result<SimulatedGateway> {
        Err(std::io::Error::other("not yet"))
    }
    /// placeholder
    pub fn description_url(&self) -> String {
        String::new()
    }
}
