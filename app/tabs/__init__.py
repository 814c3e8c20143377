"""The main window's tabs; each module is one self-contained unit the window only wires."""
