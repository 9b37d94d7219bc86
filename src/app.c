/* app.c: being written */
