/* Bactrian page module API (placeholder until the backend engine defines it). */
#ifndef BACTRIAN_MODULE_H
#define BACTRIAN_MODULE_H

#define BACTRIAN_MODULE_API_VERSION 1

#endif
