//! Provider simulators on loopback (docs/adr/0018).
