/* main_cli.c: being written */
