"""The front ends: Jobnet's and the a-kasser's formats, read by table, and their handlers."""
