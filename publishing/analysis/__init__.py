"""Analyses computed from released numbers only: post-processing, so they cost no budget
and never touch a raw record. Each result carries a 95% interval and a reading in words
that does not overstate it."""
