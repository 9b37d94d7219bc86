/* h_auth.c: being written */
