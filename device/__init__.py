"""The viewer and the rig: everything that touches hardware or imitates it.

Each hardware role (camera, LEDs, engine, display) is a small interface with a real and a
simulated implementation chosen by a URI; `device.sim` is the digital twin of the rig and
`device.captures` the capture-set file format. Only numpy and OpenCV are imported at import
time; TensorRT, pycuda, Jetson.GPIO/RPi.GPIO and onnxruntime load lazily in their backends.
"""
