"""The batch pipeline: discovery, decoding, translation, encoding and reporting."""
