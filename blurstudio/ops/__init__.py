"""The small numerical core shared by detection, the edits and the trainer (NumPy and OpenCV only):

- `photo`: the one check of a photo and of a blur map handed to the engine;
- `resample`: sizes for a pixel budget, resizing, and rows of an enlarged image made strip by strip;
- `guided`: the guided filter (He et al. 2013) and its fast upsampling form (He & Sun 2015);
- `colour`: the sRGB transfer functions (sRGB <-> linear light).
"""
