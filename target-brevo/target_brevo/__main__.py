from target_brevo.target import TargetBrevo

TargetBrevo.cli()
