"""Template sets, one concept per module, imported in one direction (tests/test_imports.py):

  sources   where a set comes from: bundled name, folder, or git URL at a ref; the cache;
  manifest  what set.yml and kinds/*/kind.yml may say (pydantic models);
  overlay   the `extends` chain laid out as one plain folder;
  loader    all of it loaded into a TemplateSet;
  prompts   asking a set's questions in a terminal;
  schema    the JSON Schema of set.yml and kind.yml, generated from the models.

Import the module you need (`from scaffold.templatesets.loader import load_template_set`);
this package re-exports nothing, so importing one module never loads the others.
"""
