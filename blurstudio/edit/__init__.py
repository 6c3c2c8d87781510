"""Photo edits driven by the blur map: selection (matting), magnify, deblur. NumPy in, NumPy out; no Qt."""
