"""The ``sign2text`` command line. Only this package prints."""
