"""Data files shipped with the console (the holiday calendar); a package so they install."""
