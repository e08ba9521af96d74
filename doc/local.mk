# rules for doc/
