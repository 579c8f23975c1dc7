//! Tests of the client over real HTTP.
