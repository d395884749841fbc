"""Drives a running LibreOffice through Python-UNO, as a person would through its menus.

Run by :mod:`tests.libreoffice.office` with the system's Python (``/usr/bin/python3``,
where Debian's ``python3-uno`` is), not the project's: ``python3 uno_jobs.py PIPE JOBS``.
``JOBS`` is a JSON file holding a list of jobs (or ``--terminate``, which quits LibreOffice);
each opens one workbook, changes it and saves it once or more, and this prints one JSON
result per job (``{"ok": true}`` or ``{"ok": false, "error": "..."}``). A job:

``{"src": path, "outputs": [{"dst": path, "filter": name, "password": text?}, ...],
"cells": {"Sheet!A1": {"input": text} | {"boolean": b} | {"text": text} | {"number": n}}?,
"basic": module source?, "vba": module source?, "embed": sheet name?}``

* ``input`` is read as Calc reads a cell's input line (``38.5`` a number, ``=A1`` a
  formula, ``EMERGENCY`` text); ``boolean`` stores what Calc stores when TRUE or FALSE is
  typed: the number 1 or 0 in the boolean number format. (Typing itself, through the
  dispatcher's ``.uno:EnterString``, crashes a headless LibreOffice 7.4 at random when the
  document is saved afterwards, so the cells are changed through the cell API.)
* ``basic`` adds a Basic module, ``vba`` a VBA module (LibreOffice writes it to ``.xlsm``
  as ``xl/vbaProject.bin``), ``embed`` a spreadsheet object embedded in that sheet;
* ``password`` saves with a password, as File > Save As > Save with password does.

The filters are the ones ``soffice --convert-to`` picks for the extension: ``calc8`` (.ods),
``Calc MS Excel 2007 XML`` (.xlsx), ``Calc MS Excel 2007 VBA XML`` (.xlsm).
"""

import json
import os
import sys
import time

import uno  # noqa: I001 - only the system Python has it; it must load before com.sun.star
from com.sun.star.awt import Point, Size
from com.sun.star.beans import NamedValue, PropertyValue
from com.sun.star.lang import Locale
from com.sun.star.script import ModuleInfo

CALC_OBJECT = "47BBB4CB-CE4C-4E80-a591-42d9ae74950f"  # the class id of a Calc spreadsheet
NORMAL_MODULE = 1  # com.sun.star.script.ModuleType.NORMAL
LOGICAL = 1024  # com.sun.star.util.NumberFormat.LOGICAL: the format that shows TRUE/FALSE


def _property(name, value):
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def connect(pipe, timeout=120.0):
    """The office's component context, once it answers on the pipe."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return context


def _cell(document, ref):
    sheet, _, cell = ref.rpartition("!")
    return document.Sheets.getByName(sheet.strip("'")).getCellRangeByName(cell)


def _edit(document, cells):
    for ref, change in cells.items():
        cell = _cell(document, ref)
        if "input" in change:
            cell.setFormula(change["input"])
        elif "boolean" in change:
            # What Calc does with TRUE typed into a cell: the number 1 shown as a boolean.
            locale = Locale()
            cell.setValue(1 if change["boolean"] else 0)
            cell.NumberFormat = document.NumberFormats.getStandardFormat(LOGICAL, locale)
        elif "text" in change:
            cell.setString(change["text"])
        else:
            cell.setValue(change["number"])


def _add_basic(document, source):
    libraries = document.BasicLibraries
    if not libraries.hasByName("Standard"):
        libraries.createLibrary("Standard")
    libraries.getByName("Standard").insertByName("Module1", source)


def _add_vba(document, source):
    libraries = document.BasicLibraries
    libraries.VBACompatibilityMode = True
    name = libraries.ProjectName or "Standard"
    libraries.ProjectName = name
    library = (
        libraries.getByName(name) if libraries.hasByName(name) else libraries.createLibrary(name)
    )
    info = ModuleInfo()
    info.ModuleType = NORMAL_MODULE
    library.insertModuleInfo("Module1", info)
    library.insertByName("Module1", "Option VBASupport 1\n" + source)


def _embed(document, sheet_name):
    shape = document.createInstance("com.sun.star.drawing.OLE2Shape")
    document.Sheets.getByName(sheet_name).DrawPage.add(shape)
    shape.CLSID = CALC_OBJECT
    shape.Size = Size(5000, 3000)
    shape.Position = Point(1000, 1000)


def _store(document, output):
    arguments = [_property("FilterName", output["filter"])]
    password = output.get("password")
    if password and output["filter"] == "calc8":
        arguments.append(_property("Password", password))
    elif password:  # Office Open XML: the encryption Excel reads (ECMA-376 standard)
        data = []
        for name, value in (("OOXPassword", password), ("CryptoType", "Standard")):
            item = NamedValue()
            item.Name, item.Value = name, value
            data.append(item)
        arguments.append(
            _property("EncryptionData", uno.Any("[]com.sun.star.beans.NamedValue", tuple(data)))
        )
    url = uno.systemPathToFileUrl(output["dst"])
    uno.invoke(document, "storeToURL", (url, tuple(arguments)))  # File > Save a Copy


def _service(context, name, *arguments):
    manager = context.ServiceManager
    if arguments:
        return manager.createInstanceWithArgumentsAndContext(name, arguments, context)
    return manager.createInstanceWithContext(name, context)


def run(desktop, job):
    url = uno.systemPathToFileUrl(job["src"])
    hidden = (_property("Hidden", True),)
    document = desktop.loadComponentFromURL(url, "_blank", 0, hidden)
    if document is None:
        raise RuntimeError(f"LibreOffice could not open {job['src']}")
    try:
        _edit(document, job.get("cells", {}))
        if "basic" in job:
            _add_basic(document, job["basic"])
        if "vba" in job:
            _add_vba(document, job["vba"])
        if "embed" in job:
            _embed(document, job["embed"])
        for output in job["outputs"]:
            _store(document, output)
    finally:
        document.close(True)


def main():
    pipe, jobs_file = sys.argv[1], sys.argv[2]
    context = connect(pipe)
    desktop = _service(context, "com.sun.star.frame.Desktop")
    if jobs_file == "--terminate":
        try:
            desktop.terminate()
        except Exception:  # the bridge closes under the call as LibreOffice quits
            pass
        return
    with open(jobs_file, encoding="utf-8") as handle:
        jobs = json.load(handle)
    results = []
    for job in jobs:
        try:
            run(desktop, job)
            results.append({"ok": True})
        except Exception as exc:  # reported per job, so one failure does not hide the others
            results.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # tearing the UNO bridge down at exit can crash the interpreter
