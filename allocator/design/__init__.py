"""Block-contract and lot design (DESIGN.md section 5): awards over demand scenarios.

* :mod:`allocator.design.scenarios` resolves an instance's scenarios and generates new ones;
* :mod:`allocator.design.solve` chooses the awards (extensive form, or decomposition);
* :mod:`allocator.design.recourse` evaluates fixed awards on scenarios (the sweep's kernel);
* :mod:`allocator.design.designs` reads a lot design file and applies it to a market;
* :mod:`allocator.design.sweep` runs the kernels on local processes or a dask cluster;
* :mod:`allocator.design.compare` and :mod:`allocator.design.report` build and write the
  side-by-side comparison of designs.

Nothing is imported here eagerly: the package costs nothing until a module is used.
"""
