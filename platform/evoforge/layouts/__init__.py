"""Task folders laid out for other tools, one small module per layout.

`evoforge.folder_tasks` dispatches to them; each module offers `matches(folder)` (a
cheap look at file names) and `load(folder) -> Task`, and says in its docstring what
it reads and what it leaves alone.
"""
