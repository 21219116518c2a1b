"""The discovery index cache: what a package's sections held, so later processes skip discovery.

One file per package manifest and Python version, in the user cache folder (``LLLM_CACHE_DIR``
overrides; ``LLLM_NO_CACHE=1`` disables it). The cache is a claim that nothing changed, so a
record is used only while every input that produced it is unchanged:

- the environment (``fingerprint``): lllm's version and code, Python, the ``sys.path``
  folders holding distributions (installing, upgrading or removing one changes them), the
  plugin switches;
- the manifest file, and the code of the plugins that made the section table (every module of
  theirs imported during discovery that lies outside installed distributions: an editable
  plugin being worked on);
- per section folder, every folder walked (times and inode) and per file its signature
  (size, modification and change time, inode: ``freshness``) and the signatures of the files
  its import loaded (siblings, helper modules: ``lllm._imports.import_closure``).

Failures are never recorded: a file whose discovery reported a problem is discovered again on
every start and its problem reported afresh; a folder whose plugin raised is not recorded.

Modules: ``location`` (where files live, ``lllm cache info|clear``), ``fingerprint`` (the
environment), ``fileformat`` (the on-disk format), ``freshness`` (signatures and re-checks),
``records`` (named records and their codec), ``nodes`` (resources to and from records),
``package_index`` (one package's file), ``folders`` (loading one section folder through it).
"""
