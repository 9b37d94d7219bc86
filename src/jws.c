/* jws.c: being written */
