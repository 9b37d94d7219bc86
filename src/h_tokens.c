/* h_tokens.c: being written */
