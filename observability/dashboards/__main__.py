"""Writes every dashboard's JSON into observability/grafana/dashboards/."""

from observability.dashboards import OUTPUT_DIR, render


def main() -> None:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUTPUT_DIR / name).write_text(text)
        print(OUTPUT_DIR / name)


if __name__ == "__main__":
    main()
