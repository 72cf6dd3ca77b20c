export {
  DOCKER_HUB,
  DOCKER_HUB_ENDPOINT,
  ImageReference,
  parseReference,
  registryEndpoint,
  tryParseReference,
} from './reference.ts'
