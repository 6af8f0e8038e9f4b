from tap_klaviyo.tap import TapKlaviyo

TapKlaviyo.cli()
