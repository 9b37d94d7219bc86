/* main_fcgi.c: being written */
