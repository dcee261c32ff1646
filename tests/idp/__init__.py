"""Identity providers the tests start on loopback: real software, set up per test."""
