//! Clients of the external APIs, one folder per API with the same shape each time: the client,
//! its wire types and its error classification (docs/adr/0018). Only jobs call them.

pub mod cloudflare;
mod http;
pub mod mercadopago;
pub mod pagseguro;
pub mod stripe;
pub mod whm;
