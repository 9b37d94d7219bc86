/* js.c: being written */
