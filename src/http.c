/* http.c: being written */
