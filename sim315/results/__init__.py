"""The HDF5 result file: its layout, the chunk writer, the streaming summary, the reader."""
