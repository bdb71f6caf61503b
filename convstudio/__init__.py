"""ConvStudio: design, see and understand image convolution."""

__version__ = "0.1.0"
