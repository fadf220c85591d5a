"""The local backend: the NemoVideo protocol on loopback, with real music and rendering."""
