from git44_ctl.cli import main

main()
