/* The Linux entry point: hands argv and the environment to the portable app. */
#include <unistd.h>

#include "app/app.h"

extern char **environ;

int main(int argc, char **argv)
{
    return app_main(argc, argv, (const char *const *)environ);
}
