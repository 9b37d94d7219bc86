/* pw.c: being written */
