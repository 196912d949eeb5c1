"""The converters' last line: whatever a damaged or unexpected file makes go wrong deep
inside a conversion becomes one message that names the file, never a traceback."""


def run(convert, args, source):
    try:
        convert(args)
    except MemoryError:
        raise SystemExit(f"error: {source} asks for more memory than this machine has; it is damaged or not the file this converter expects") from None
    except Exception as err:  # noqa: BLE001 - the message below is the point
        raise SystemExit(
            f"error: {source} could not be converted ({type(err).__name__}: {str(err)[:300]}); "
            "it is damaged or not the file this converter expects") from err
